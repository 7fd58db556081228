/**
 * What the Azure AD (Microsoft Entra) error codes the operator's users meet mean, in the operator's
 * words: a refused token request's message names the code and, for these, its cause, so a
 * condition says "the certificate is not registered" rather than only "invalid_client". The
 * issuer's own error_description is never repeated (it is a response body).
 */
const causes: Readonly<Record<number, string>> = {
  50013: "the client assertion is invalid (its aud is not the token endpoint, or its jti was used before)",
  50027: "the client assertion is not a valid JWT",
  90002: "the tenant does not exist",
  500011: "the resource is not registered in the tenant",
  700016: "the application (client id) is not registered in the tenant",
  700021: "the client assertion's iss or sub is not the client id",
  700024: "the client assertion is not within its valid time range (expired or not yet valid)",
  700027:
    "the certificate is not registered on the application, or the assertion's signature does not verify",
  700211: "no federated identity credential of the application matches the token's issuer",
  700212: "no federated identity credential of the application matches the token's audience",
  700213: "no federated identity credential of the application matches the token's subject",
  1002012: "the scope must be <resource>/.default",
  7000215: "the client secret is wrong",
  7000218: "neither client_assertion nor client_secret was sent",
  7000222: "the client secret has expired",
};

/** `AADSTS<code>`, with its cause when the operator knows it. */
export function aadstsDetail(code: number): string {
  const cause = causes[code];
  return cause ? `AADSTS${code}: ${cause}` : `AADSTS${code}`;
}
