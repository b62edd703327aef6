/**
 * ARM's error envelope: `{"error":{"code":"…","message":"…","target"?,"details"?}}` with an HTTP status.
 * Reference: https://github.com/Azure/azure-resource-manager-rpc/blob/master/v1.0/common-api-details.md#error-response-content
 */
export interface ArmErrorBody {
  code: string;
  message: string;
  target?: string;
  details?: ArmErrorBody[];
}

export class ArmError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly extra: { target?: string; details?: ArmErrorBody[]; headers?: Record<string, string> } = {},
  ) {
    super(message);
  }

  body(): { error: ArmErrorBody } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.extra.target !== undefined ? { target: this.extra.target } : {}),
        ...(this.extra.details ? { details: this.extra.details } : {}),
      },
    };
  }
}

/** 400 InvalidParameter with a target, as the Compute RP answers bad VM input. */
export const invalidParameter = (message: string, target: string): ArmError => new ArmError(400, 'InvalidParameter', message, { target });

/** 400 InvalidRequestFormat, as the Network RP answers a body it cannot bind (wrong enum value, wrong JSON type). */
export const invalidRequestFormat = (detail: string): ArmError =>
  new ArmError(400, 'InvalidRequestFormat', 'Cannot parse the request.', { details: [{ code: 'InvalidJson', message: detail }] });

/** 404 ResourceNotFound in ARM's wording. */
export const resourceNotFound = (fullType: string, name: string, rg: string): ArmError =>
  new ArmError(
    404,
    'ResourceNotFound',
    `The Resource '${fullType}/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );

export const resourceGroupNotFound = (rg: string): ArmError =>
  new ArmError(404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`);
