/**
 * Kubernetes resource quantities ("100m", "1Gi", "1.5", "2e3"), parsed exactly.
 *
 * Grammar and rounding from k8s.io/apimachinery `pkg/api/resource/quantity.go`:
 *   <quantity> ::= <signedNumber><suffix>; <suffix> ::= Ki | Mi | Gi | Ti | Pi | Ei | n | u | m | "" | k | M | G | T | P | E
 *   | <decimalExponent> (e.g. "e3", "E-2").
 * `Quantity.MilliValue()` and `Quantity.Value()` round up (towards +infinity) to the next integer, which is what the
 * scheduler uses for cpu (milli-units) and memory (bytes). `@kubernetes/client-node` 1.4.0 has only `quantityToScalar`,
 * which throws on "1.5Gi" and exponents and mixes number/bigint results, so this module does the arithmetic with bigint.
 */

const QUANTITY = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;

const BINARY: Record<string, bigint> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n };
const DECIMAL_EXP: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** Thrown for a string that is not a Kubernetes quantity (the API server answers such input with 422 Invalid). */
export class InvalidQuantityError extends Error {
  constructor(readonly input: string) {
    super(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': ${JSON.stringify(input)}`);
    this.name = 'InvalidQuantityError';
  }
}

/** An exact rational value num/den (den > 0), the parsed form of a quantity. */
interface Rational {
  num: bigint;
  den: bigint;
}

function parse(input: string): Rational {
  const m = QUANTITY.exec(input.trim());
  if (!m || input.trim() === '') throw new InvalidQuantityError(input);
  const [, sign, digits, suffix = ''] = m;
  const [intPart, fracPart = ''] = digits.split('.');
  let num = BigInt(`${intPart || '0'}${fracPart}`);
  let den = 10n ** BigInt(fracPart.length);
  if (sign === '-') num = -num;
  if (suffix in BINARY) {
    num *= BINARY[suffix];
  } else {
    const exp = suffix in DECIMAL_EXP ? DECIMAL_EXP[suffix] : Number(suffix.slice(1));
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 100) throw new InvalidQuantityError(input);
    if (exp >= 0) num *= 10n ** BigInt(exp);
    else den *= 10n ** BigInt(-exp);
  }
  return { num, den };
}

/** Ceiling division for bigint with den > 0. */
function ceilDiv(num: bigint, den: bigint): bigint {
  const q = num / den;
  return num % den > 0n ? q + 1n : q;
}

/** True when `input` is a valid Kubernetes quantity. */
export function isQuantity(input: string): boolean {
  try {
    parse(input);
    return true;
  } catch {
    return false;
  }
}

/**
 * The quantity in milli-units, rounded up (Kubernetes `MilliValue()`): "100m" → 100, "1.5" → 1500, "1" → 1000.
 * Used for cpu (millicores). Throws InvalidQuantityError.
 */
export function toMilli(input: string): number {
  const { num, den } = parse(input);
  return Number(ceilDiv(num * 1000n, den));
}

/**
 * The quantity as an integer, rounded up (Kubernetes `Value()`): "1Gi" → 1073741824, "1.5k" → 1500, "100m" → 1.
 * Used for memory (bytes) and pods (count). Throws InvalidQuantityError.
 */
export function toValue(input: string): number {
  const { num, den } = parse(input);
  return Number(ceilDiv(num, den));
}

/** Millicores as the canonical quantity the API server would print: 1000 → "1", 1930 → "1930m". */
export function formatMilli(milli: number): string {
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** Bytes as a binary-suffixed quantity when exact ("Ki" at least): 2147483648 → "2Gi", 1536 → "1536", 3041280*1024 → "3041280Ki". */
export function formatBytes(bytes: number): string {
  for (const [suffix, unit] of [['Gi', 1024 ** 3], ['Mi', 1024 ** 2], ['Ki', 1024]] as const) {
    if (bytes !== 0 && bytes % unit === 0) return `${bytes / unit}${suffix}`;
  }
  return String(bytes);
}
