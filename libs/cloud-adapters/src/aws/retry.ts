/**
 * A small SDK retry strategy (the smithy `RetryStrategyV2` protocol): at most `maxAttempts` attempts, exponential
 * backoff with jitter from a short base, retrying throttling, transient and server errors only. The SDK's standard
 * strategy waits up to seconds on throttling; callers here back off on their own (reconcile loops), so the SDK only
 * smooths over blips and throttling still surfaces quickly as `CloudError('Throttled')`.
 */
type RetryErrorType = 'THROTTLING' | 'TRANSIENT' | 'SERVER_ERROR' | 'CLIENT_ERROR';

interface Token {
  getRetryCount(): number;
  getRetryDelay(): number;
}

const token = (count: number, delay: number): Token => ({ getRetryCount: () => count, getRetryDelay: () => delay });

export class BoundedRetryStrategy {
  readonly mode = 'standard';

  /**
   * @param maxAttempts attempts in total, first one included.
   * @param baseDelayMs delay before the first retry (doubled each retry, throttling twice that), in milliseconds.
   * @param maxDelayMs upper bound of one delay, in milliseconds.
   */
  constructor(
    private readonly maxAttempts = 3,
    private readonly baseDelayMs = 100,
    private readonly maxDelayMs = 2000,
  ) {}

  async acquireInitialRetryToken(_scope: string): Promise<Token> {
    return token(0, 0);
  }

  async refreshRetryTokenForRetry(previous: Token, info: { errorType: RetryErrorType; retryAfterHint?: Date }): Promise<Token> {
    const retries = previous.getRetryCount();
    if (info.errorType === 'CLIENT_ERROR' || retries + 1 >= this.maxAttempts) throw new Error('no retry left');
    const base = this.baseDelayMs * 2 ** retries * (info.errorType === 'THROTTLING' ? 2 : 1);
    let delay = Math.min(this.maxDelayMs, base / 2 + Math.random() * (base / 2));
    if (info.retryAfterHint) delay = Math.min(this.maxDelayMs, Math.max(delay, info.retryAfterHint.getTime() - Date.now()));
    return token(retries + 1, Math.round(delay));
  }

  recordSuccess(_token: Token): void {
    // Stateless: no retry quota to refill.
  }
}
