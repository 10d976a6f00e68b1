import { isOn, track } from "./analytics";
import { CHECKOUT_STARTED } from "./events";

export async function checkout(cart: { total: number; coupon?: string }) {
  track(CHECKOUT_STARTED, { total: cart.total });
  if (cart.coupon) {
    track("checkout_coupon_applied", { coupon: cart.coupon });
  }
  const flow = isOn("release_checkout_v2") ? "v2" : "v1";
  const ok = await pay(cart, flow);
  track(ok ? "subscription_checkout_completed" : "error_payment_declined", { flow });
}

async function pay(cart: { total: number }, flow: string): Promise<boolean> {
  const response = await fetch(`/api/pay?flow=${flow}`, {
    method: "POST",
    body: JSON.stringify(cart),
  });
  return response.ok;
}
