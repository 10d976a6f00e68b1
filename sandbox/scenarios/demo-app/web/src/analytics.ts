// The web app's one way to talk to PostHog: every capture goes through `track`, every flag
// check through `isOn`, so the properties and the user are always attached.
import posthog from "posthog-js";

export function track(event: string, properties: Record<string, unknown> = {}) {
  posthog.capture(event, { app: "web", ...properties });
}

export function isOn(flag: string): boolean {
  return posthog.isFeatureEnabled(flag) ?? false;
}
