"""The only code that does I/O: Firestore, Auth, FCM, Stripe, Twilio, the video provider."""
