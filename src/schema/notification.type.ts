import { Field, ID, Int, ObjectType } from "type-graphql";
import type { ChannelRecord, DeliveryPage, DeliveryRecord } from "../domain/notify";
import { ChannelKind, DeliveryReason, DeliveryStatus, Severity } from "./enums";
import { PageInfo } from "./page-info.type";
import { DateTimeScalar } from "./scalars";

@ObjectType({ description: "where alert notifications go; the secret is write-only (see hasSecret)" })
export class NotificationChannel {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => ChannelKind)
  kind!: ChannelKind;

  @Field(() => String, { description: "WEBHOOK and SLACK: the URL POSTed to; ALERTMANAGER: Alertmanager's base URL (Vigil POSTs to <url>/api/v2/alerts)" })
  url!: string;

  @Field(() => Boolean, { description: "whether a signing secret is set (WEBHOOK); the secret itself is never returned" })
  hasSecret!: boolean;

  @Field(() => Severity, { description: "alerts of a lower severity are not sent here" })
  minSeverity!: Severity;

  @Field(() => Boolean, { description: "whether resolved notices are sent" })
  sendResolved!: boolean;

  @Field(() => Int, { description: "a firing alert is sent again after this many seconds without a delivery" })
  repeatIntervalSeconds!: number;

  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar)
  updatedAt!: Date;

  static from(c: ChannelRecord): NotificationChannel {
    const { tenantId: _tenantId, ...fields } = c;
    return Object.assign(new NotificationChannel(), fields);
  }
}

@ObjectType({ description: "one notification in the outbox: a message to one channel, retried until DELIVERED or FAILED" })
export class Delivery {
  @Field(() => ID)
  id!: string;

  @Field(() => NotificationChannel)
  channel!: NotificationChannel;

  /** for the alerts domain's `alert` field resolver; null for TEST deliveries and deleted alerts */
  alertId!: string | null;

  @Field(() => DateTimeScalar, { description: "when the delivery was written (the alert's transition, the repeat, or testChannel)" })
  at!: Date;

  @Field(() => DeliveryReason)
  reason!: DeliveryReason;

  @Field(() => DeliveryStatus)
  status!: DeliveryStatus;

  @Field(() => Int, { description: "attempts made so far" })
  attempts!: number;

  @Field(() => Int, { nullable: true, description: "HTTP status of the last attempt; null when it got no response" })
  responseCode!: number | null;

  @Field(() => String, { nullable: true, description: "why the last attempt failed: a short excerpt of the response or the network error" })
  error!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  lastAttemptAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: "when a PENDING delivery is tried next" })
  nextAttemptAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  deliveredAt!: Date | null;

  @Field(() => String, { description: "sent as the Idempotency-Key header on every attempt of this delivery" })
  idempotencyKey!: string;

  static from(d: DeliveryRecord): Delivery {
    return Object.assign(new Delivery(), {
      id: d.id,
      channel: NotificationChannel.from(d.channel),
      alertId: d.alertId,
      at: d.createdAt,
      reason: d.reason,
      status: d.status,
      attempts: d.attempts,
      responseCode: d.responseCode,
      error: d.error,
      lastAttemptAt: d.lastAttemptAt,
      nextAttemptAt: d.status === DeliveryStatus.PENDING ? d.nextAttemptAt : null,
      deliveredAt: d.deliveredAt,
      idempotencyKey: d.idempotencyKey,
    });
  }
}

@ObjectType()
export class DeliveryConnection {
  @Field(() => [Delivery])
  nodes!: Delivery[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  static from(page: DeliveryPage): DeliveryConnection {
    return Object.assign(new DeliveryConnection(), {
      nodes: page.nodes.map(Delivery.from),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
    });
  }
}
