"""Models: loading by hub id, local folder or built-in name; tiny test models; an arm's model
(`ArmModel`: base, fine-tuning lineage, checkpoint, adapter scale)."""
