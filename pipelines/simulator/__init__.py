"""A realistic coal-mine data simulator: four sources, planted anomalies, decoys, biased inspections."""
