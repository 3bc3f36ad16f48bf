"""LayerSkip-style early-exit training: every chosen layer learns to predict the next token
through the model's own final norm and LM head."""
