/** The page's whole state: a plain object, kept in the URL's hash so a link reopens it. */

import { packOwn, unpackOwn } from "./owndata.js";
import { PRESETS } from "./presets.js";

/** A deep copy of a JSON-like value. */
export function copy(value) {
  return JSON.parse(JSON.stringify(value));
}

/** The state of a preset, with the first epoch and sample selected. */
export function presetState(key) {
  return { preset: key, ...copy(PRESETS[key]), epoch: null, sample: 0 };
}

/** Whether a state's run has validation data: a test split of a drawn set, or a pasted request's
 * (own data has none). */
export function validates(state) {
  return state.data.fixed || state.data.own ? Boolean(state.extra?.validation) : state.data.test_fraction > 0;
}

/** Base64url of a string's UTF-8 bytes. */
function encode(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The string whose base64url is `code`. */
function decode(code) {
  const binary = atob(code.replaceAll("-", "+").replaceAll("_", "/"));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

/** The URL hash that holds `state` (own data's points packed: see owndata.js). */
export function toHash(state) {
  const { label, ...kept } = state;
  return `#s=${encode(JSON.stringify(packOwn(kept)))}`;
}

/** The state a URL hash holds, or null when it holds none (or one that does not parse). */
export function fromHash(hash) {
  const match = /^#s=([A-Za-z0-9_-]+)$/.exec(hash);
  if (!match) return null;
  try {
    const state = JSON.parse(decode(match[1]));
    return state && state.net && state.data && state.train ? unpackOwn(state) : null;
  } catch {
    return null;
  }
}
