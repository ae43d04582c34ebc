//! The examples: ServiceB and AppC, the services placed behind the gateway ([`echo`]); ServiceD,
//! which runs its own login page with auth-sdk's client ([`service_d`]); the phone stand-in
//! ([`qr_image`] reads QR codes for it); and an app that embeds auth-core without the gateway
//! ([`embedded`]).

pub mod echo;
pub mod embedded;
pub mod qr_image;
pub mod service_d;
