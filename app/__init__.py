"""backprop-api: a dense network's forward pass, loss, gradients and training runs as JSON."""
