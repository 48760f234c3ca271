"""Channel-neutral dialogs: requester intake, supplement, status; admin decisions."""
