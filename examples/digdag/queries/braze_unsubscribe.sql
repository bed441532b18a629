-- The users to unsubscribe from the newsletter group: everyone who opted out in the CRM since
-- the last run. One identifier per row (external_id here; email or phone work too).
SELECT customer_id AS external_id,
       'unsubscribed' AS subscription_state
FROM crm_opt_outs
WHERE opted_out_at >= TD_TIME_ADD(TD_SCHEDULED_TIME(), '-1d')
