/**
 * A strict JSON parser (RFC 8259) that also remembers the line each value starts on, so that a
 * problem found later in a valid document can name its line, not only its path. JSON.parse gives
 * no positions; this is small because JSON is small.
 */

export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface ParsedJson {
  value: JsonValue;
  /** The 1-based line where the value at this path starts (the document's first line for `[]`). */
  lineOf(path: readonly (string | number)[]): number;
}

export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${message} (line ${line}, column ${column})`);
  }
}

/** A path as one key: segments joined by a separator no JSON key can hold unescaped. */
function pathKey(path: readonly (string | number)[]): string {
  return path.map((segment) => String(segment)).join('\u0000');
}

export function parseJsonWithLines(text: string): ParsedJson {
  const lines = new Map<string, number>();
  let index = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let lineStart = index;

  function fail(message: string): never {
    throw new JsonSyntaxError(message, line, index - lineStart + 1);
  }

  function skipWhitespace(): void {
    while (index < text.length) {
      const character = text[index];
      if (character === '\n') {
        line += 1;
        index += 1;
        lineStart = index;
      } else if (character === ' ' || character === '\t' || character === '\r') {
        index += 1;
      } else {
        break;
      }
    }
  }

  function expectLiteral(word: string): void {
    if (text.startsWith(word, index)) index += word.length;
    else fail(`Unexpected ${describeHere()}`);
  }

  function describeHere(): string {
    return index >= text.length ? 'end of file' : `character "${text[index]}"`;
  }

  function parseString(): string {
    index += 1; // the opening quote
    let result = '';
    for (;;) {
      if (index >= text.length) fail('Unterminated string');
      const character = text[index]!;
      const code = character.charCodeAt(0);
      if (character === '"') {
        index += 1;
        return result;
      }
      if (code < 0x20) fail('A control character (such as a line break) inside a string');
      if (character === '\\') {
        const escape = text[index + 1];
        const simple: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        };
        if (escape !== undefined && escape in simple) {
          result += simple[escape];
          index += 2;
        } else if (escape === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(index + 2, index + 6))) {
          result += String.fromCharCode(parseInt(text.slice(index + 2, index + 6), 16));
          index += 6;
        } else {
          fail('A bad escape in a string');
        }
        continue;
      }
      result += character;
      index += 1;
    }
  }

  function parseNumber(): number {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(
      text.slice(index, index + 400),
    );
    if (!match) fail(`Unexpected ${describeHere()}`);
    index += match[0].length;
    return Number(match[0]);
  }

  function parseValue(path: (string | number)[], depth: number): JsonValue {
    if (depth > 64) fail('Nested too deeply');
    skipWhitespace();
    lines.set(pathKey(path), line);
    const character = text[index];
    if (character === '{') {
      index += 1;
      const result: { [key: string]: JsonValue } = {};
      skipWhitespace();
      if (text[index] === '}') {
        index += 1;
        return result;
      }
      for (;;) {
        skipWhitespace();
        if (text[index] !== '"')
          fail(`Expected a property name in quotes, found ${describeHere()}`);
        const key = parseString();
        if (Object.hasOwn(result, key)) fail(`The property "${key}" appears twice`);
        skipWhitespace();
        if (text[index] !== ':') fail(`Expected ":" after "${key}", found ${describeHere()}`);
        index += 1;
        const value = parseValue([...path, key], depth + 1);
        Object.defineProperty(result, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        skipWhitespace();
        if (text[index] === ',') {
          index += 1;
          continue;
        }
        if (text[index] === '}') {
          index += 1;
          return result;
        }
        fail(`Expected "," or "}", found ${describeHere()}`);
      }
    }
    if (character === '[') {
      index += 1;
      const result: JsonValue[] = [];
      skipWhitespace();
      if (text[index] === ']') {
        index += 1;
        return result;
      }
      for (;;) {
        result.push(parseValue([...path, result.length], depth + 1));
        skipWhitespace();
        if (text[index] === ',') {
          index += 1;
          continue;
        }
        if (text[index] === ']') {
          index += 1;
          return result;
        }
        fail(`Expected "," or "]", found ${describeHere()}`);
      }
    }
    if (character === '"') return parseString();
    if (character === 't') {
      expectLiteral('true');
      return true;
    }
    if (character === 'f') {
      expectLiteral('false');
      return false;
    }
    if (character === 'n') {
      expectLiteral('null');
      return null;
    }
    if (character === '-' || (character !== undefined && character >= '0' && character <= '9'))
      return parseNumber();
    return fail(`Unexpected ${describeHere()}`);
  }

  const value = parseValue([], 0);
  skipWhitespace();
  if (index < text.length) fail(`Unexpected ${describeHere()} after the end of the document`);
  return {
    value,
    lineOf(path) {
      for (let length = path.length; length >= 0; length--) {
        const found = lines.get(pathKey(path.slice(0, length)));
        if (found !== undefined) return found;
      }
      return 1;
    },
  };
}
