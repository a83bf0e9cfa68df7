/** The /train request a page state stands for: data from /datasets, a network from /init. */

import { post } from "./api.js";
import { ownRequestData } from "./owndata.js";

const memo = new Map();

/** POST once per distinct body: the same request gives the same answer (seeded). */
async function cached(path, body) {
  const key = path + JSON.stringify(body);
  if (!memo.has(key)) memo.set(key, post(path, body).catch((error) => (memo.delete(key), Promise.reject(error))));
  return memo.get(key);
}

/** Rows of a sample or a batch (one sample becomes one row). */
export function rows(values) {
  return Array.isArray(values[0]) ? values : [values];
}

/** The /datasets body of a state's data settings (`info` is the set's GET /datasets entry). */
export function datasetBody(data, output, info) {
  const body = {
    name: data.name,
    samples: data.samples,
    noise: data.noise,
    seed: data.seed,
    test_fraction: data.test_fraction,
    ...data.params,
  };
  if (info && info.task === "classification") {
    const classes = data.params.classes ?? data.params.arms ?? info.classes;
    body.encoding = output === "sigmoid" && classes === 2 ? "binary" : "one_hot";
  }
  return body;
}

/** The data of a state: its own data (owndata.js), its fixed inputs and targets, or a set drawn by /datasets. With input
 * features, the network's inputs are the features, and `plane` keeps what the map needs: the
 * points' own (x₁, x₂), the same seed's points drawn without features, and `grid(box)`, the
 * features of a grid over the plane from /datasets' `grid`. */
export async function dataOf(state, catalog) {
  const data = state.data;
  if (data.own) return ownRequestData(data.own, state.net.output);
  if (data.fixed) return { inputs: data.fixed.inputs, targets: data.fixed.targets, test_inputs: null, test_targets: null };
  const info = catalog.find((set) => set.name === data.name);
  const body = datasetBody(data, state.net.output, info);
  if (!data.features) return cached("/datasets", body);
  const featured = { ...body, input_features: data.features };
  const [plain, drawn] = await Promise.all([cached("/datasets", body), cached("/datasets", featured)]);
  const grid = async (low, high, steps) => (await cached("/datasets", { ...featured, grid: { low, high, steps } })).grid_inputs;
  return { ...drawn, plane: { inputs: plain.inputs, test_inputs: plain.test_inputs, grid } };
}

/** The network of a state: its fixed weights, or one from /init with each layer's activation. */
export async function networkOf(state, inputs, targets) {
  const net = state.net;
  if (net.fixed) return net.fixed;
  const sizes = [rows(inputs)[0].length, ...net.hidden.map((layer) => layer.units), rows(targets)[0].length];
  const body = { sizes, activation: "relu", output_activation: net.output, init: net.init, seed: net.init_seed };
  const answer = await cached("/init", body);
  const layers = answer.network.layers.map((layer, index) => ({
    ...layer,
    activation: index < net.hidden.length ? net.hidden[index].activation : net.output,
  }));
  return { layers };
}

/** The optimizer object of the training settings, as /train takes it. */
export function optimizerOf(train) {
  const optimizer = { type: train.optimizer, learning_rate: train.learning_rate, weight_decay: train.weight_decay };
  if (train.optimizer === "sgd") optimizer.momentum = train.momentum;
  else optimizer.betas = [train.beta1, train.beta2];
  return { ...optimizer, ...(train.optimizer_extra || {}) };
}

/** The validation data of a request: the data set's test split, or a pasted request's own (with
 * its own data only), or null. */
export function validationOf(state, data) {
  if (data.test_inputs) return { inputs: data.test_inputs, targets: data.test_targets };
  return state.data.fixed ? state.extra?.validation ?? null : null;
}

/** The stop rules of the training settings, or null for none; the validation ones only when the
 * run has validation data (the form disables them without it). */
export function stopOf(train, validated) {
  const stop = {};
  if (train.stop_below !== null) stop.loss_below = train.stop_below;
  if (validated && (train.stop_validation_below ?? null) !== null) stop.validation_loss_below = train.stop_validation_below;
  if (validated && (train.patience ?? null) !== null) stop.patience = train.patience;
  return Object.keys(stop).length ? stop : null;
}

/** The /train body (without the page's trace settings) and the data it trains on. */
export async function buildRequest(state, catalog) {
  const data = await dataOf(state, catalog);
  const network = await networkOf(state, data.inputs, data.targets);
  const train = state.train;
  const body = {
    network,
    inputs: data.inputs,
    targets: data.targets,
    loss: train.loss,
    optimizer: optimizerOf(train),
    epochs: train.epochs,
  };
  if (train.batch_size !== null) body.batch_size = train.batch_size;
  if (train.shuffle) body.shuffle = true;
  if (train.seed) body.seed = train.seed;
  const validation = validationOf(state, data);
  if (validation) body.validation = validation;
  const stop = stopOf(train, validation !== null);
  if (stop) body.stop = stop;
  if (train.regularization) body.regularization = train.regularization;
  if (train.every > 0) body.trace = { every: train.every };
  const extra = { ...(state.extra || {}) };
  delete extra.validation;
  return { body: { ...body, ...extra }, data };
}
