-- one row per production_balance day with a negative quantity or a share outside [0, 1]
select mine_code, day, belt_tonnes, total_kwh, implied_tonnes, night_hoist_ratio, hoist_share_ratio
from production_balance
where belt_tonnes < 0
    or total_kwh < 0
    or implied_tonnes < 0
    or night_hoist_ratio not between 0 and 1
    or hoist_share_ratio not between 0 and 1
