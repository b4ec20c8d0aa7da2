/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The Firebase web app config as JSON (default: the local demo project). */
  readonly VITE_FIREBASE_CONFIG?: string;
  /** The Web Push certificate key pair's public key (FCM getToken). */
  readonly VITE_VAPID_KEY?: string;
  /** reCAPTCHA Enterprise site key: App Check on every callable (production only). */
  readonly VITE_RECAPTCHA_ENTERPRISE_SITE_KEY?: string;
  /** Stripe publishable key (production mode only). */
  readonly VITE_STRIPE_PUBLISHABLE_KEY?: string;
  /** "1": talk to the emulators; "0": production; unset: local on localhost / 127.0.0.1. */
  readonly VITE_HOMEPRO_LOCAL?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
