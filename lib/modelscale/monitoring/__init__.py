"""Model monitoring: drift against the training reference, performance once labels land, reports, the operations log."""
