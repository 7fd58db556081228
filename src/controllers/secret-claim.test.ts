import type { V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  adoptedAnnotation,
  claimOf,
  claimProblem,
  holderAnnotation,
  holderUidAnnotation,
  ownershipOf,
  type ClaimContext,
  type ExistingSecretPolicy,
  type SecretWriter,
} from "./secret-claim.ts";

const me: SecretWriter = {
  kind: "DataTrailsIntegration",
  namespace: "ns",
  name: "mine",
  uid: "uid-me",
  creationTimestamp: "2026-06-01T10:00:00Z",
};
const older: SecretWriter = {
  ...me,
  name: "older",
  uid: "uid-older",
  creationTimestamp: "2026-06-01T09:00:00Z",
};
const younger: SecretWriter = {
  ...me,
  name: "younger",
  uid: "uid-young",
  creationTimestamp: "2026-06-01T11:00:00Z",
};

function secret(opts: { holder?: SecretWriter; ownerUid?: string; adopted?: boolean } = {}): V1Secret {
  return {
    metadata: {
      name: "s",
      namespace: "ns",
      annotations: {
        ...(opts.holder
          ? {
              [holderAnnotation]: `${opts.holder.kind}/${opts.holder.name}`,
              [holderUidAnnotation]: opts.holder.uid,
            }
          : {}),
        ...(opts.adopted ? { [adoptedAnnotation]: "true" } : {}),
      },
      ...(opts.ownerUid
        ? {
            ownerReferences: [
              {
                apiVersion: "datatrails.ai/v1alpha1",
                kind: "DataTrailsIntegration",
                name: "legacy",
                uid: opts.ownerUid,
                controller: true,
              },
            ],
          }
        : {}),
    },
    data: { foo: "YmFy" },
  };
}

function context(over: Partial<ClaimContext> = {}): ClaimContext {
  return { me, policy: "Refuse", rivals: [], holderExists: () => true, ...over };
}

describe("claimOf", () => {
  it.each([
    { name: "an absent Secret is free", secret: undefined, ctx: context(), want: "free" },
    {
      name: "an absent Secret that an older object also names goes to the older one",
      secret: undefined,
      ctx: context({ rivals: [older, me] }),
      want: "held:older",
    },
    {
      name: "an absent Secret that only a younger object also names is free",
      secret: undefined,
      ctx: context({ rivals: [younger, me] }),
      want: "free",
    },
    {
      name: "a Secret naming this object as its holder is mine",
      secret: secret({ holder: me }),
      ctx: context(),
      want: "mine",
    },
    {
      name: "a Secret of an earlier version, owned by this object, is mine",
      secret: secret({ ownerUid: me.uid }),
      ctx: context(),
      want: "mine",
    },
    {
      name: "a Secret held by another live object is held, whatever the policy",
      secret: secret({ holder: older }),
      ctx: context({ policy: "Merge" }),
      want: "held:older",
    },
    {
      name: "a Secret of an earlier version owned by another object is held",
      secret: secret({ ownerUid: "uid-other" }),
      ctx: context(),
      want: "held:legacy",
    },
    { name: "a user's Secret is foreign by default", secret: secret(), ctx: context(), want: "foreign" },
    {
      name: "a user's Secret with Merge is taken over, adopted",
      secret: secret(),
      ctx: context({ policy: "Merge" }),
      want: "mine:adopted",
    },
    {
      name: "a Secret whose holder is gone is foreign by default",
      secret: secret({ holder: older }),
      ctx: context({ holderExists: () => false }),
      want: "foreign",
    },
    {
      name: "a Secret whose holder is gone, with Adopt, goes to an older rival first",
      secret: secret({ holder: younger }),
      ctx: context({ policy: "Adopt", rivals: [older], holderExists: () => false }),
      want: "held:older",
    },
  ])("$name", ({ secret: s, ctx, want }) => {
    const claim = claimOf(s, ctx);
    const got =
      claim.state === "held"
        ? `held:${claim.holder.name}`
        : claim.state === "mine" && claim.adopted
          ? "mine:adopted"
          : claim.state;
    expect(got).toBe(want);
  });
});

describe("ownershipOf", () => {
  it.each([
    { name: "a created Secret is owned by its writer", adopted: false, policy: "Refuse", owned: true },
    {
      name: "a Secret taken over with Merge gets no ownerReference",
      adopted: true,
      policy: "Merge",
      owned: false,
    },
    {
      name: "a Secret taken over with Adopt is owned by its writer",
      adopted: true,
      policy: "Adopt",
      owned: true,
    },
  ] satisfies { name: string; adopted: boolean; policy: ExistingSecretPolicy; owned: boolean }[])(
    "$name",
    ({ adopted, policy, owned }) => {
      const o = ownershipOf(me, { state: "mine", adopted }, policy);
      expect(o.ownerReferences.map((r) => r.uid)).toEqual(owned ? [me.uid] : []);
      expect(o.annotations[holderUidAnnotation]).toBe(me.uid);
      expect(o.annotations[adoptedAnnotation]).toBe(adopted ? "true" : undefined);
    },
  );
});

describe("claimProblem", () => {
  it("names the holder and the Secret, and says what to do", () => {
    const message = claimProblem("shared", {
      state: "held",
      holder: { kind: "BearerToken", name: "b", uid: "u" },
    });
    expect(message).toContain("Secret shared is held by BearerToken b");
    expect(claimProblem("theirs", { state: "foreign" })).toContain("existingSecretPolicy");
    expect(claimProblem("free", { state: "free" })).toBeUndefined();
  });
});
