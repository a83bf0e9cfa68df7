/** The presets: each a whole page state (network, data, training), as state.js defines it. */

import { BETAS, LEARNING_RATES } from "./vocab.js";

const NOTEBOOK_NETWORK = {
  layers: [
    { weights: [[0.1, -0.2, 0.4], [-0.5, 0.3, 0.2]], bias: [0.0, 0.05], activation: "relu" },
    { weights: [[0.3, -0.7]], bias: [0.1], activation: "identity" },
  ],
};
const MAZUR_NETWORK = {
  layers: [
    { weights: [[0.15, 0.2], [0.25, 0.3]], bias: [0.35, 0.35], activation: "sigmoid" },
    { weights: [[0.4, 0.45], [0.5, 0.55]], bias: [0.6, 0.6], activation: "sigmoid" },
  ],
};
const XOR_NETWORK = {
  layers: [
    { weights: [[0.5, -0.4], [-0.3, 0.8], [0.7, 0.2]], bias: [0.0, 0.1, -0.1], activation: "tanh" },
    { weights: [[0.6, -0.5, 0.3], [-0.2, 0.4, -0.6]], bias: [0.0, 0.0], activation: "softmax" },
  ],
};

/** A training block with the API's defaults and `more` over them. */
function training(more) {
  return {
    loss: "half_squared_error",
    optimizer: "sgd",
    learning_rate: LEARNING_RATES.sgd,
    momentum: 0,
    beta1: BETAS[0],
    beta2: BETAS[1],
    weight_decay: 0,
    epochs: 10,
    batch_size: null,
    shuffle: false,
    seed: 0,
    every: 0,
    stop_below: null,
    stop_validation_below: null,
    patience: null,
    regularization: null,
    ...more,
  };
}

/** Layers as {units, activation} rows (hidden layers) plus the output activation. */
function layersOf(network) {
  const layers = network.layers;
  return {
    hidden: layers.slice(0, -1).map((l) => ({ units: l.bias.length, activation: l.activation })),
    output: layers[layers.length - 1].activation,
  };
}

/** A preset whose network and data are given number by number. */
function fixed(label, network, inputs, targets, train) {
  return {
    label,
    net: { ...layersOf(network), init: "pytorch_default", init_seed: 0, fixed: network },
    data: { name: "fixed", samples: 0, noise: 0, seed: 0, test_fraction: 0, params: {}, fixed: { inputs, targets } },
    train: training(train),
  };
}

/** A preset drawn by /datasets and /init. */
function drawn(label, name, data, hidden, output, train) {
  return {
    label,
    net: { hidden, output, init: "xavier_uniform", init_seed: 0, fixed: null },
    data: { name, samples: 200, noise: 0, seed: 0, test_fraction: 0.25, params: {}, fixed: null, ...data },
    train: training(train),
  };
}

const tanh = (units) => ({ units, activation: "tanh" });
const CLASSIFY = { loss: "cross_entropy", optimizer: "adam", learning_rate: 0.03, epochs: 300 };

/** Every preset by key, in the menu's order; "paste" is filled from a pasted request. */
export const PRESETS = {
  notebook: fixed("The notebook (3-2-1 ReLU, one sample)", NOTEBOOK_NETWORK, [-1.0, 2.0, 1.5], [1.0], {}),
  mazur: fixed("Mazur's 2-2-2 sigmoid example", MAZUR_NETWORK, [0.05, 0.1], [0.01, 0.99], {
    learning_rate: 0.5,
    epochs: 100,
  }),
  xor: fixed(
    "XOR (tanh, softmax, Adam)",
    XOR_NETWORK,
    [[0, 0], [0, 1], [1, 0], [1, 1]],
    [[1, 0], [0, 1], [0, 1], [1, 0]],
    { ...CLASSIFY, learning_rate: 0.1, epochs: 200, batch_size: 2, shuffle: true, seed: 1, stop_below: 0.05 },
  ),
  circles: drawn("Circles", "circles", { noise: 0.05, params: { factor: 0.5 } }, [tanh(8)], "softmax", CLASSIFY),
  moons: drawn("Two moons", "moons", { noise: 0.1 }, [tanh(8)], "softmax", CLASSIFY),
  spiral: drawn("Spiral (3 arms)", "spiral", { noise: 0, params: { arms: 3, turns: 1 } }, [tanh(16), tanh(16)], "softmax", {
    ...CLASSIFY,
    learning_rate: 0.02,
    epochs: 1000,
  }),
  blobs: drawn("Blobs (k classes)", "blobs", { params: { classes: 3, features: 2, std: 1 } }, [tanh(8)], "softmax", CLASSIFY),
  sine: drawn("Sine regression", "sine", { samples: 64, params: { frequency: 1 } }, [tanh(16)], "identity", {
    loss: "mean_squared_error",
    optimizer: "adam",
    learning_rate: 0.01,
    epochs: 1000,
  }),
};

/** A page state from a /train request body (pasted, or an example of the docs or the CLI). */
export function fromRequest(body) {
  const network = body.network;
  if (!network || !Array.isArray(network.layers) || network.layers.length === 0) {
    throw new Error("the request has no network.layers: paste a body that /train accepts");
  }
  const optimizer = body.optimizer || {};
  const betas = optimizer.betas || BETAS;
  const known = new Set([
    "network", "inputs", "targets", "loss", "optimizer", "epochs", "batch_size", "shuffle", "seed", "stop", "trace",
    "regularization",
  ]);
  const extra = Object.fromEntries(Object.entries(body).filter(([key]) => !known.has(key)));
  const preset = fixed("Pasted request", network, body.inputs, body.targets, {
    loss: body.loss ?? "half_squared_error",
    optimizer: optimizer.type ?? "sgd",
    learning_rate: optimizer.learning_rate ?? LEARNING_RATES[optimizer.type || "sgd"] ?? LEARNING_RATES.adam,
    momentum: optimizer.momentum ?? 0,
    beta1: betas[0],
    beta2: betas[1],
    weight_decay: optimizer.weight_decay ?? 0,
    epochs: body.epochs ?? 10,
    batch_size: body.batch_size ?? null,
    shuffle: body.shuffle ?? false,
    seed: body.seed ?? 0,
    every: body.trace && body.trace.every ? body.trace.every : 0,
    stop_below: body.stop?.loss_below ?? null,
    stop_validation_below: body.stop?.validation_loss_below ?? null,
    patience: body.stop?.patience ?? null,
    regularization: body.regularization ?? null,
  });
  const optimizerKnown = new Set(["type", "learning_rate", "momentum", "betas", "weight_decay"]);
  preset.extra = extra;
  preset.train.optimizer_extra = Object.fromEntries(
    Object.entries(optimizer).filter(([key]) => !optimizerKnown.has(key)),
  );
  return preset;
}
