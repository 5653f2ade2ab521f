import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import type { Context } from "../context";
import type { ChannelService } from "../domain/notify";
import { NotificationChannelInput } from "../schema/notification.input";
import { Delivery, DeliveryConnection, NotificationChannel } from "../schema/notification.type";

/** Notification channels and their deliveries. Inputs are validated in the domain (see notification.input.ts). */
@Resolver()
export class NotificationResolver {
  constructor(private readonly service: ChannelService) {}

  @Query(() => [NotificationChannel], { description: "the tenant's channels by name. RULES_READ scope" })
  async channels(@Ctx() { session }: Context): Promise<NotificationChannel[]> {
    return (await this.service.list(session)).map(NotificationChannel.from);
  }

  @Query(() => DeliveryConnection, { description: "newest first; `first` 1–500, default 50. RULES_READ scope" })
  async deliveries(
    @Arg("channelId", () => ID, { nullable: true }) channelId: string | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() { session }: Context,
  ): Promise<DeliveryConnection> {
    return DeliveryConnection.from(await this.service.deliveries(session, { channelId, first, after }));
  }

  @Mutation(() => NotificationChannel, { description: "RULES_WRITE scope" })
  async createChannel(
    @Arg("input", () => NotificationChannelInput, { validate: false }) input: NotificationChannelInput,
    @Ctx() { session, requestId }: Context,
  ): Promise<NotificationChannel> {
    return NotificationChannel.from(await this.service.create(session, input, requestId));
  }

  @Mutation(() => NotificationChannel, {
    description: "replaces the channel's settings; optional fields left out keep their values, and so does the secret (\"\" clears it). RULES_WRITE scope",
  })
  async updateChannel(
    @Arg("id", () => ID) id: string,
    @Arg("input", () => NotificationChannelInput, { validate: false }) input: NotificationChannelInput,
    @Ctx() { session, requestId }: Context,
  ): Promise<NotificationChannel> {
    return NotificationChannel.from(await this.service.update(session, id, input, requestId));
  }

  @Mutation(() => Boolean, { description: "deletes the channel with its deliveries and removes it from rules. RULES_DELETE scope" })
  async deleteChannel(@Arg("id", () => ID) id: string, @Ctx() { session, requestId }: Context): Promise<boolean> {
    return this.service.delete(session, id, requestId);
  }

  @Mutation(() => Delivery, {
    description:
      "sends a sample alert (alertname VigilTestNotification) through the channel, even a disabled one, and answers after the first attempt; " +
      "a retryable failure stays PENDING and is retried. RULES_WRITE scope",
  })
  async testChannel(@Arg("id", () => ID) id: string, @Ctx() { session, requestId }: Context): Promise<Delivery> {
    return Delivery.from(await this.service.test(session, id, requestId));
  }
}
