/** The engine's names and defaults the form offers: its activation, loss and optimizer tables
 * (app/nn) written out for the page, tests/web/test_vocab.py checks them against those tables. */

export const ACTIVATIONS = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"];
export const LAST_LAYER_ONLY = ["softmax"];
export const LOSSES = [
  "half_squared_error",
  "mean_squared_error",
  "binary_cross_entropy",
  "cross_entropy",
];
/** The classification losses and the activation each needs on the last layer. */
export const OUTPUT_ACTIVATIONS = { binary_cross_entropy: "sigmoid", cross_entropy: "softmax" };
export const INITS = ["pytorch_default", "he_uniform", "he_normal", "xavier_uniform", "xavier_normal"];
export const OPTIMIZERS = ["sgd", "adam", "adamw"];
export const LEARNING_RATES = { sgd: 0.01, adam: 0.001, adamw: 0.001 };
export const BETAS = [0.9, 0.999];
/** TF Playground's input features, as /datasets' `input_features` names them, and their labels. */
export const FEATURES = {
  x1: "x₁",
  x2: "x₂",
  x1_squared: "x₁²",
  x2_squared: "x₂²",
  x1_times_x2: "x₁·x₂",
  sin_x1: "sin x₁",
  sin_x2: "sin x₂",
};
/** The penalties on the weights a request's `regularization` names (TF Playground's L1 and L2). */
export const REGULARIZATIONS = ["l1", "l2"];
/** The API's default limits on a network (app/config.py): layers, the output layer included
 * (BACKPROP_MAX_LAYERS), and units per layer (BACKPROP_MAX_UNITS); the +/− buttons stop there. */
export const LIMITS = { layers: 32, units: 4096 };
