/**
 * Edits to JSON object text that leave every other byte as it was: passthrough replaces (or, for Vertex,
 * removes) the model in the client's body without re-serializing the rest (key order, spacing, numbers and
 * escapes all kept).
 */

interface Member {
  key: string;
  /** Where the member's key starts and its value starts and ends (exclusive). */
  start: number;
  valueStart: number;
  valueEnd: number;
}

const WS = /\s/;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const OPEN_BRACKET = 91;
const CLOSE_BRACE = 125;
const CLOSE_BRACKET = 93;

/**
 * The end (exclusive) of the JSON string starting at `i` (a `"`). It jumps from quote to quote (a quote after an
 * odd run of backslashes is escaped): a request of agent size is mostly string, and a loop over its characters
 * in JavaScript cost twice what JSON.parse of the whole body does.
 */
function stringEnd(text: string, i: number): number {
  for (let j = text.indexOf('"', i + 1); j >= 0; j = text.indexOf('"', j + 1)) {
    let k = j - 1;
    while (text.charCodeAt(k) === BACKSLASH) k--;
    if ((j - 1 - k) % 2 === 0) return j + 1;
  }
  throw new SyntaxError("unterminated string");
}

/**
 * The end (exclusive) of the JSON value starting at `i`. In an object or array, strings are skipped whole and
 * only the short stretches between them are read for brackets.
 */
function valueEnd(text: string, i: number): number {
  if (text[i] === '"') return stringEnd(text, i);
  if (text[i] === "{" || text[i] === "[") {
    let depth = 0;
    for (let j = i; ; ) {
      const quote = text.indexOf('"', j);
      const stop = quote < 0 ? text.length : quote;
      for (let k = j; k < stop; k++) {
        const c = text.charCodeAt(k);
        if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
        else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) return k + 1;
      }
      if (quote < 0) throw new SyntaxError("unterminated value");
      j = stringEnd(text, quote);
    }
  }
  let j = i;
  while (j < text.length && !/[,}\]\s]/.test(text[j] ?? "")) j++;
  return j;
}

const skip = (text: string, i: number) => {
  let j = i;
  while (WS.test(text[j] ?? "")) j++;
  return j;
};

/** The top-level members of a JSON object text, in order, read as they are asked for; throws when it is not one. */
function* members(text: string): Generator<Member> {
  let i = skip(text, 0);
  if (text[i] !== "{") throw new SyntaxError("not a JSON object");
  i = skip(text, i + 1);
  while (text[i] === '"') {
    const keyEnd = stringEnd(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    const colon = skip(text, keyEnd);
    if (text[colon] !== ":") throw new SyntaxError("expected ':'");
    const valueStart = skip(text, colon + 1);
    const end = valueEnd(text, valueStart);
    yield { key, start: i, valueStart, valueEnd: end };
    i = skip(text, end);
    if (text[i] !== ",") break;
    i = skip(text, i + 1);
  }
}

/**
 * Replaces the value of top-level string field `key` with `value`; the text is unchanged when the field is
 * absent or not a string. Nested fields of the same name are untouched. The text is read only as far as the
 * field (the first of its name): the model comes first in most clients' bodies, so the rest is never scanned.
 *
 * @example replaceTopLevelString('{"model": "a", "x": {"model": "b"}}', "model", "c") // '{"model": "c", "x": {"model": "b"}}'
 */
export function replaceTopLevelString(text: string, key: string, value: string): string {
  for (const m of members(text)) {
    if (m.key !== key) continue;
    if (text[m.valueStart] !== '"') return text;
    return text.slice(0, m.valueStart) + JSON.stringify(value) + text.slice(m.valueEnd);
  }
  return text;
}

/** Removes top-level field `key` (the first of its name, and its comma); unchanged when absent. */
export function removeTopLevel(text: string, key: string): string {
  const all = members(text);
  let prev: Member | undefined;
  for (const m of all) {
    if (m.key === key) {
      const next = all.next();
      if (!next.done) return text.slice(0, m.start) + text.slice(next.value.start);
      return prev
        ? text.slice(0, prev.valueEnd) + text.slice(m.valueEnd)
        : text.slice(0, m.start) + text.slice(m.valueEnd);
    }
    prev = m;
  }
  return text;
}

/** Adds top-level field `key` with `value` (JSON-encoded) first in the object. */
export function prependTopLevel(text: string, key: string, value: unknown): string {
  const open = skip(text, 0);
  const rest = skip(text, open + 1);
  const sep = text[rest] === "}" ? "" : ",";
  return `${text.slice(0, open + 1)}${JSON.stringify(key)}:${JSON.stringify(value)}${sep}${text.slice(open + 1)}`;
}
