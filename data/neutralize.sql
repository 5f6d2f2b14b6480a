-- A neutralized copy of the database (staging, restored backup) must never send SMS through Africa's Talking,
-- nor hold anything of production's credentials: the encrypted API keys and the callback secrets' hashes go too.
UPDATE africastalking_account SET active = false, api_key_encrypted = NULL, callback_secret_hash = NULL;
