-- An email-change token carries the address the account moves to once its link is opened.
ALTER TABLE email_tokens ADD COLUMN new_email TEXT;
