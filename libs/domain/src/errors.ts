/** A rule of the domain was broken by input. `field` is a JSON pointer-ish path (`controlPlane.count`), `rule` a short id. */
export class ValidationFailure extends Error {
  constructor(public readonly violations: { field: string; rule: string; message: string }[]) {
    super(violations.map((v) => `${v.field}: ${v.message}`).join('; '));
    this.name = 'ValidationFailure';
  }
}
