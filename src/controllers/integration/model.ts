/**
 * What the integration controller observes and what it plans. gather.ts fills an
 * {@link IntegrationObserved}; decide.ts turns it into a {@link Plan} without I/O; apply.ts carries
 * the plan out, one idempotent action after another.
 */
import type { Condition, ReasonName, SecretTemplate } from "../../api/v1alpha1/index.ts";
import type { SecretClaim } from "../secret-claim.ts";
import type { AccessPolicy, IssuedApplication, NewAccessPolicy } from "../../datatrails/api.ts";
import type {
  DataTrailsIntegration,
  IntegrationSpec,
  IntegrationStatus,
} from "../../api/v1alpha1/integration.ts";

/** The parts of a DataTrails application the controller compares and records. Never holds the secret. */
export interface ApplicationView {
  identity: string;
  clientId: string;
  displayName: string;
  customClaims: Record<string, string>;
  validFrom?: string;
  validUntil?: string;
}

/** A failure that stops the reconcile, in the vocabulary of condition reasons. */
export interface Failure {
  reason: ReasonName;
  message: string;
  retryAfterMs?: number;
}

/** The resolved connection: where DataTrails is, or why it cannot be used. */
type ConnectionState = { state: "ready"; url: string; tokenUrl: string } | ({ state: "failed" } & Failure);

/** What the credentials Secret holds, without its values. */
export interface CredentialsSecretView {
  resourceVersion: string;
  clientId?: string;
  hasClientSecret: boolean;
  url?: string;
  tokenUrl?: string;
  /** Set when the Secret is not shaped as spec.credentialsSecret.template says: it is rewritten from its values. */
  shapeStale?: boolean;
}

/** The application as looked up by identity. */
export type ApplicationLookup =
  | { state: "none" }
  | { state: "found"; app: ApplicationView }
  | { state: "missing" }
  | ({ state: "failed" } & Failure);

/** Applications found by the crash-recovery search (display name + ownership claim). */
export type SearchResult =
  { state: "none" } | { state: "done"; apps: ApplicationView[] } | ({ state: "failed" } & Failure);

/** Whether the secret in the credentials Secret works at the token endpoint. */
export type SecretCheck =
  { state: "none" } | { state: "works" } | { state: "rejected" } | ({ state: "failed" } & Failure);

/** Where the identity of the application came from. */
export type IdentitySource = "status" | "adopt" | "secret" | "search";

/** The child BearerToken, as far as the integration cares. */
export interface ChildTokenView {
  exists: boolean;
  /** Whether its spec is what the integration wants. */
  upToDate: boolean;
  /** A BearerToken of that name exists but is not this integration's child: it is never touched. */
  foreign?: boolean;
  ready?: Condition;
}

/** An access policy as looked up by the identity recorded in status. */
export type PolicyLookup =
  { state: "found"; policy: AccessPolicy } | { state: "missing" } | ({ state: "failed" } & Failure);

/** The access policies found by the crash-recovery search (display-name prefix). */
type PolicySearch =
  { state: "none" } | { state: "done"; policies: AccessPolicy[] } | ({ state: "failed" } & Failure);

/** What gather learned about the integration's access policies in DataTrails. */
export interface PoliciesObserved {
  /** Lookups of the identities recorded in status.accessPolicies, by identity. */
  lookups: Record<string, PolicyLookup>;
  /** When a search ran: every policy whose display name carries this integration's prefix. */
  search: PolicySearch;
}

/** An application that another integration holds (its ownership claim names that one's UID). */
export interface ForeignApplication {
  identity: string;
  /** The integration holding it, `namespace/name`, when it exists. */
  holder?: string;
  /** Why it is not this integration's, for the condition message. */
  why: "claimed" | "notClaimed" | "adoptedFirst";
}

/** Everything the integration controller knows at the start of a reconcile. */
export interface IntegrationObserved {
  object: DataTrailsIntegration;
  /** Whether this integration may write its credentials Secret (see secret-claim.ts). */
  credentialsClaim: SecretClaim;
  /** Set when the application found is another integration's: it is never changed by this one. */
  foreignApplication?: ForeignApplication;
  /** The spec with defaults applied, or undefined when it failed to parse (see specError). */
  spec: IntegrationSpec | undefined;
  specError?: string;
  connection: ConnectionState;
  credentials: CredentialsSecretView | undefined;
  identity?: { value: string; source: IdentitySource };
  application: ApplicationLookup;
  search: SearchResult;
  secretCheck: SecretCheck;
  token: ChildTokenView;
  policies: PoliciesObserved;
}

/** Why a secret is being regenerated. */
export type RegenerateCause = "lost" | "rejected" | "adopted" | "expiring" | "requested";

/** One step of a plan. Each is idempotent or guarded by a status mark written before it. */
export type Action =
  | { type: "AddFinalizer" }
  | { type: "RemoveFinalizer" }
  | {
      type: "MarkPendingCreate";
      displayName: string;
      at: string;
      /**
       * Where the mark goes: status.pendingCreate (a create again, or a mark there already), or the
       * create-started annotation, then together with the finalizer when that is still to be added.
       */
      into: "status" | "annotation";
      addFinalizer?: true;
    }
  | {
      type: "CreateApplication";
      displayName: string;
      customClaims: Record<string, string>;
      roles?: string[];
    }
  | { type: "MarkPendingRotation"; at: string; previousValidFrom?: string; request?: string }
  | { type: "RegenerateSecret"; identity: string; cause: RegenerateCause }
  | { type: "WriteCredentials"; url: string; tokenUrl: string; secretFrom: "result" | "existing" }
  | {
      type: "PatchApplication";
      identity: string;
      displayName?: string;
      customClaims?: Record<string, string>;
    }
  | { type: "DeleteApplication"; identity: string; cause: "deleted" | "duplicate" }
  | { type: "MarkPendingPolicy"; name: string; at: string }
  | { type: "CreateAccessPolicy"; name: string; policy: NewAccessPolicy }
  | { type: "UpdateAccessPolicy"; name: string; identity: string; policy: NewAccessPolicy }
  | {
      type: "DeleteAccessPolicy";
      name: string;
      identity: string;
      cause: "removed" | "deleted" | "duplicate";
    }
  | {
      type: "ApplyBearerToken";
      secretName: string;
      credentialsSecretName: string;
      existingSecretPolicy?: "Merge" | "Adopt";
      /** The credentials Secret's key names, when its template renames them. */
      clientIdKey?: string;
      clientSecretKey?: string;
      /** spec.token.template, passed on as the child's spec.secretTemplate. */
      template?: SecretTemplate;
      /** spec.suspend, passed on to the child. */
      suspend?: true;
      /** The integration's datatrails.ai/refresh-requested-at value, passed on to the child. */
      refreshRequest?: string;
    }
  | { type: "DeleteBearerToken" }
  | { type: "RecordEvent"; eventType: "Normal" | "Warning"; reason: string; note: string };

/** What decide() returns: the actions to run in order and the status to write when they all succeed. */
export interface Plan {
  actions: Action[];
  status: IntegrationStatus;
  /** When to look again even if nothing changes (rotation due, periodic drift check). */
  requeueAfterMs?: number;
  /** Set when the reconcile cannot go on; the controller retries with backoff (or after retryAfterMs). */
  failure?: Failure;
}

/** What apply's steps produced, for the status written after them. Never logged: `issued` holds the secret. */
export interface ApplyResults {
  /** What create or regenerate-secret returned. */
  issued?: IssuedApplication;
  /** Identities of the access policies created, by spec name. */
  policies?: Record<string, string>;
  rotatedAt?: string;
  credentialsVersion?: string;
  /** The status as written so far (the object's, then each write-ahead mark). */
  status: IntegrationStatus | undefined;
  /** Whether the finalizer was removed: the object may be gone, with no status to write. */
  finalizerRemoved: boolean;
}

/** How apply went: what the steps produced, and the first failure with the action it stopped at. */
export interface ApplyOutcome {
  results: ApplyResults;
  error?: { cause: unknown; action: Action };
}
