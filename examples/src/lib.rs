//! The examples: ServiceB and AppC, the services placed behind the gateway ([`echo`]); the phone
//! stand-in ([`qr_image`] reads QR codes for it); and an app that embeds auth-core without the
//! gateway ([`embedded`]).

pub mod echo;
pub mod embedded;
pub mod qr_image;
