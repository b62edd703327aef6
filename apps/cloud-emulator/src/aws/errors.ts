/**
 * EC2 errors as the Query API answers them: an HTTP status and
 * `<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors><RequestID>…</RequestID></Response>`.
 * Codes and messages follow the EC2 API reference, "Error codes for the Amazon EC2 API".
 */
export class Ec2Error extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'Ec2Error';
  }
}

/** 400 with `code`. */
export const clientError = (code: string, message: string): Ec2Error => new Ec2Error(400, code, message);

export const missingParameter = (name: string): Ec2Error =>
  clientError('MissingParameter', `The request must contain the parameter ${name}`);

export const invalidParameterValue = (message: string): Ec2Error => clientError('InvalidParameterValue', message);

export const invalidParameterCombination = (message: string): Ec2Error => clientError('InvalidParameterCombination', message);

export const dependencyViolation = (message: string): Ec2Error => clientError('DependencyViolation', message);

/** `Invalid<Kind>ID.NotFound` for one or several ids, with EC2's wording. */
export function notFound(code: string, noun: string, ids: string[]): Ec2Error {
  return ids.length === 1
    ? clientError(code, `The ${noun} '${ids[0]}' does not exist`)
    : clientError(code, `The ${noun}s '${ids.join(', ')}' do not exist`);
}

/** `Invalid<Kind>ID.Malformed` with EC2's wording. */
export const malformed = (code: string, id: string): Ec2Error => clientError(code, `Invalid id: "${id}"`);
