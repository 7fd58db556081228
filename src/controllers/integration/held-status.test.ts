/**
 * The held first status of a create (held-status.ts): when the overlay applies, and which statuses
 * may wait for the child's first token.
 */
import { describe, expect, it } from "vitest";
import type { DataTrailsIntegration, IntegrationStatus } from "../../api/v1alpha1/index.ts";
import { heldStatuses, mayHold } from "./held-status.ts";

const key = "ns/tl";
const obj = (status?: IntegrationStatus, uid = "uid-1"): DataTrailsIntegration =>
  ({
    apiVersion: "datatrails.ai/v1alpha1",
    kind: "DataTrailsIntegration",
    metadata: { name: "tl", namespace: "ns", uid, generation: 1 },
    spec: {},
    ...(status ? { status } : {}),
  }) as unknown as DataTrailsIntegration;

const condition = (type: string, status: "True" | "False" | "Unknown", reason: string) => ({
  type,
  status,
  reason,
  message: "",
  lastTransitionTime: "2026-12-01T00:00:00Z",
  observedGeneration: 1,
});

const waiting: IntegrationStatus = {
  applicationIdentity: "applications/a",
  clientId: "a",
  credentialsSecretVersion: "7",
  conditions: [
    condition("CredentialsReady", "True", "Ready"),
    condition("TokenReady", "Unknown", "Reconciling"),
    condition("Ready", "Unknown", "Reconciling"),
  ],
};

describe("held statuses", () => {
  it("overlay the held status on the object it was held for, while the stored status is unchanged", () => {
    const held = heldStatuses();
    held.hold(key, { uid: "uid-1", status: waiting, since: 0, over: undefined });
    expect(held.overlay(key, obj()).obj.status).toEqual(waiting);
    expect(held.overlay(key, obj()).stored).toBeUndefined();
    expect(held.overlay(key, obj()).heldSince).toBe(0);
  });

  it.each([
    { name: "another object of the same name", read: obj(undefined, "uid-2") },
    {
      name: "a status another controller wrote meanwhile",
      read: obj({ conditions: [condition("ReloadReady", "True", "Ready")] }),
    },
  ])("end with $name", ({ read }) => {
    const held = heldStatuses();
    held.hold(key, { uid: "uid-1", status: waiting, since: 0, over: undefined });
    expect(held.overlay(key, read).obj).toBe(read);
    // And stay ended.
    expect(held.overlay(key, obj()).heldSince).toBeUndefined();
  });
});

describe("mayHold", () => {
  const withCondition = (
    type: string,
    status: "True" | "False" | "Unknown",
    reason: string,
  ): IntegrationStatus => ({
    ...waiting,
    conditions: [
      ...(waiting.conditions ?? []).filter((c) => c.type !== type),
      condition(type, status, reason),
    ],
  });
  it.each([
    { name: "a create waiting for the child's first token", stored: undefined, next: waiting, want: true },
    {
      name: "a status whose stored one records an identity already (a create again)",
      stored: { applicationIdentity: "applications/old" },
      next: waiting,
      want: false,
    },
    {
      name: "a status with the child's token",
      stored: undefined,
      next: withCondition("TokenReady", "True", "TokenValid"),
      want: false,
    },
    {
      name: "a status with access policies to create",
      stored: undefined,
      next: withCondition("AccessPoliciesReady", "Unknown", "Reconciling"),
      want: false,
    },
    {
      name: "a status whose credentials failed",
      stored: undefined,
      next: withCondition("CredentialsReady", "False", "DataTrailsUnavailable"),
      want: false,
    },
  ])("$name: $want", ({ stored, next, want }) => expect(mayHold(stored, next)).toBe(want));
});
