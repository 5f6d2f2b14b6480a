-- A neutralized copy of the database (staging, restored backup) must never send SMS through Africa's Talking.
UPDATE africastalking_account SET active = false;
