/**
 * The Event recorder against the real API server: events.k8s.io/v1 Events about an object, repeats
 * folded into one Event's series count, a new Event after the window, and notes with secrets masked.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoreV1Api, EventsV1Api, type EventsV1Event, type KubernetesObject } from "@kubernetes/client-node";
import { createFakeClock } from "../../src/k8s/fake-clock.ts";
import { createKubeEventRecorder, reportingController } from "../../src/k8s/events.ts";
import { capturingLogger, createNamespace, sharedKubeConfig, uniqueName } from "./support.ts";

describe("KubeEventRecorder", () => {
  const kc = sharedKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const eventsApi = kc.makeApiClient(EventsV1Api);
  const namespace = uniqueName("k8s-events");
  let deleteNamespace: () => Promise<void>;

  beforeAll(async () => {
    deleteNamespace = await createNamespace(kc, namespace);
  });
  afterAll(async () => {
    await deleteNamespace();
  });

  const subject = async (name: string): Promise<KubernetesObject> => {
    const cm = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name } } });
    return { apiVersion: "v1", kind: "ConfigMap", metadata: cm.metadata ?? {} };
  };
  const eventsAbout = async (name: string): Promise<EventsV1Event[]> =>
    (await eventsApi.listNamespacedEvent({ namespace })).items.filter((e) => e.regarding?.name === name);
  const setup = () => {
    const clock = createFakeClock(Date.now());
    const { logger, lines } = capturingLogger();
    const recorder = createKubeEventRecorder({
      kubeConfig: kc,
      identity: "operator-pod_1a2b",
      clock,
      logger,
      seriesFlushMs: 1000,
    });
    return { clock, recorder, lines };
  };

  it("records an events.k8s.io/v1 Event about the object", async () => {
    const { recorder, lines } = setup();
    const obj = await subject("one");
    recorder.record(obj, {
      type: "Normal",
      reason: "TokenRefreshed",
      action: "Refresh",
      note: "token valid until 11:00",
    });
    await recorder.flush();

    const [event, ...others] = await eventsAbout("one");
    expect(others).toEqual([]);
    expect(event).toMatchObject({
      type: "Normal",
      reason: "TokenRefreshed",
      action: "Refresh",
      note: "token valid until 11:00",
      reportingController,
      reportingInstance: "operator-pod_1a2b",
      regarding: { kind: "ConfigMap", name: "one", namespace, uid: obj.metadata?.uid },
    });
    expect(event?.series).toBeUndefined();
    expect(lines().filter((l) => l["level"] === "warn")).toEqual([]);
  });

  it("folds repeats within the window into one Event with a series count", async () => {
    const { clock, recorder } = setup();
    const obj = await subject("repeats");
    const failed = {
      type: "Warning",
      reason: "TokenRefreshFailed",
      action: "Refresh",
      note: "issuer answered 503",
    } as const;
    for (let i = 0; i < 5; i++) {
      recorder.record(obj, failed);
      await clock.advance(200);
    }
    // The series is written back by its flush timer (one PATCH for all repeats so far)...
    await clock.advance(1000);
    await expect.poll(async () => (await eventsAbout("repeats")).map((e) => e.series?.count)).toEqual([5]);

    // ...and by flush() for repeats since then.
    recorder.record(obj, failed);
    recorder.record(obj, failed);
    await recorder.flush();
    expect((await eventsAbout("repeats")).map((e) => e.series?.count)).toEqual([7]);
  });

  it("starts a new Event for another note, and after the window", async () => {
    const { clock, recorder } = setup();
    const obj = await subject("window");
    const event = { type: "Warning", reason: "TokenRefreshFailed", action: "Refresh", note: "503" } as const;
    recorder.record(obj, event);
    recorder.record(obj, { ...event, note: "timeout" });
    await recorder.flush();
    expect(await eventsAbout("window")).toHaveLength(2);

    await clock.advance(11 * 60_000);
    recorder.record(obj, event);
    await recorder.flush();
    expect(await eventsAbout("window")).toHaveLength(3);
  });

  it("masks anything in a note that looks like a token or a hex secret", async () => {
    const { recorder } = setup();
    const obj = await subject("redacted");
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcHAifQ.c2lnbmF0dXJlLWJ5dGVz";
    const hex = "0f".repeat(32);
    recorder.record(obj, {
      type: "Warning",
      reason: "VerificationFailed",
      action: "Verify",
      note: `bad token ${jwt} with ${hex}`,
    });
    await recorder.flush();

    const [event] = await eventsAbout("redacted");
    expect(event?.note).toBe("bad token [REDACTED] with [REDACTED]");
  });

  it("logs, and does not throw, when the API server refuses the Event", async () => {
    const { recorder, lines } = setup();
    const ghost: KubernetesObject = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "ghost", namespace: uniqueName("absent") },
    };
    expect(() =>
      recorder.record(ghost, { type: "Normal", reason: "Created", action: "Create", note: "x" }),
    ).not.toThrow();
    await recorder.flush();
    const warnings = lines().filter((l) => l["level"] === "warn");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ msg: "could not record an Event", err: { code: "NotFound" } });
  });
});
