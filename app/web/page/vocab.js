/** The engine's names the form offers (tests/web/test_page.py checks them against app/nn). */

export const ACTIVATIONS = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"];
export const LOSSES = [
  "half_squared_error",
  "mean_squared_error",
  "binary_cross_entropy",
  "cross_entropy",
];
export const INITS = ["pytorch_default", "he_uniform", "he_normal", "xavier_uniform", "xavier_normal"];
export const OPTIMIZERS = ["sgd", "adam", "adamw"];
