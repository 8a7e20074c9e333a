/**
 * Edits to JSON text that leave every other byte as it was: passthrough replaces the model name in the
 * client's body without re-serializing the rest (key order, spacing, numbers, escapes all kept).
 */

/** The end (exclusive) of the JSON string starting at `i` (a `"`). */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === "\\") j++;
    else if (text[j] === '"') return j + 1;
  }
  throw new SyntaxError("unterminated string");
}

/**
 * Replaces the value of top-level string field `key` of the JSON object text `text` with `value`; returns
 * the text unchanged when the field is absent or not a string. Nested fields of the same name are untouched.
 *
 * @example replaceTopLevelString('{"model": "a", "x": {"model": "b"}}', "model", "c") // '{"model": "c", "x": {"model": "b"}}'
 */
export function replaceTopLevelString(text: string, key: string, value: string): string {
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      const end = stringEnd(text, i);
      if (depth === 1 && expectKey) {
        const name = JSON.parse(text.slice(i, end)) as string;
        let j = end;
        while (/\s/.test(text[j] ?? "")) j++;
        if (text[j] !== ":") throw new SyntaxError("expected ':'");
        j++;
        while (/\s/.test(text[j] ?? "")) j++;
        if (name === key && text[j] === '"') {
          const valueEnd = stringEnd(text, j);
          return text.slice(0, j) + JSON.stringify(value) + text.slice(valueEnd);
        }
        expectKey = false;
        i = j - 1;
        continue;
      }
      i = end - 1;
    } else if (ch === "{" || ch === "[") {
      depth++;
      expectKey = ch === "{" && depth === 1;
    } else if (ch === "}" || ch === "]") depth--;
    else if (ch === "," && depth === 1) expectKey = true;
  }
  return text;
}
