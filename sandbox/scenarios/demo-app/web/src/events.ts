// Event names used in more than one place.
export const CHECKOUT_STARTED = "subscription_checkout_started";
export const EXPORT_STARTED = "feature_export_started";
