"""FLOW (arXiv:2502.02797): weight each training sample by exp(-l/tau), l its loss under the frozen
base model, so fine-tuning leans less on what the base model finds hard and forgets less.

Modules: ``weighting`` (the plain Python function), ``data`` (the hfplug data transform with its
disk cache), ``trainer`` / ``config`` (the trl trainer that uses the weight column). Importing the
package imports neither torch nor trl.
"""

WEIGHT_COLUMN = "flow_weight"
LOSS_COLUMN = "flow_loss"
TOKEN_WEIGHTS_COLUMN = "flow_token_weights"
