/**
 * Stripe.js, production mode only: loaded on demand from js.stripe.com (Stripe requires that
 * for PCI compliance). Only the few calls the request form needs are typed here.
 */
import { stripePublishableKey } from './config';

const STRIPE_JS_URL = 'https://js.stripe.com/v3';

export interface StripeError {
  message?: string;
}

export interface StripeCardElement {
  mount(target: HTMLElement): void;
  unmount(): void;
  destroy(): void;
  on(event: 'change', handler: (e: { error?: StripeError; complete: boolean }) => void): void;
}

export interface Stripe {
  elements(): { create(type: 'card', options?: Record<string, unknown>): StripeCardElement };
  createPaymentMethod(options: {
    type: 'card';
    card: StripeCardElement;
  }): Promise<{ paymentMethod?: { id: string }; error?: StripeError }>;
  handleNextAction(options: { clientSecret: string }): Promise<{ error?: StripeError }>;
}

declare global {
  interface Window {
    Stripe?: (publishableKey: string) => Stripe;
  }
}

let stripe: Promise<Stripe> | null = null;

export function loadStripe(): Promise<Stripe> {
  if (stripe) return stripe;
  stripe = new Promise<Stripe>((resolve, reject) => {
    if (!stripePublishableKey) {
      reject(new Error('Card payments are not configured (VITE_STRIPE_PUBLISHABLE_KEY).'));
      return;
    }
    const key = stripePublishableKey;
    const ready = () => {
      if (window.Stripe) resolve(window.Stripe(key));
      else reject(new Error('Stripe.js did not load.'));
    };
    if (window.Stripe) {
      ready();
      return;
    }
    const script = document.createElement('script');
    script.src = STRIPE_JS_URL;
    script.async = true;
    script.onload = ready;
    script.onerror = () =>
      reject(new Error('Stripe.js could not be loaded. Check your connection.'));
    document.head.appendChild(script);
  });
  stripe.catch(() => {
    stripe = null; // let a later attempt retry
  });
  return stripe;
}
