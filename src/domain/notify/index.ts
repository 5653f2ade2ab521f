export { type RetryPolicy, backoffMs, parseRetryAfter, retryDelayMs } from "./backoff";
export { ChannelService, type DeliveryPage } from "./channel.service";
export { type Claim, Notifier, type NotifierOptions } from "./notifier";
export { idempotencyKey, routes } from "./routing";
export { ERROR_MAX, type SendOutcome, type Sender, httpSender, isRetryableStatus } from "./sender";
export { SIGNATURE_HEADER, TRANSPORTS, ZERO_TIME, signature } from "./transports";
export * from "./types";
export { CHANNEL_LIMITS, type ChannelInput, DEFAULT_REPEAT_SECONDS, checkChannelUrl } from "./validation";
