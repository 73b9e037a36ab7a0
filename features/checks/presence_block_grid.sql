-- one row per shift_presence block off the 8-hour grid (00:00, 08:00, 16:00), duplicated, or with an impossible headcount
with blocks as (
    select * from shift_presence
),

final as (
    select
        mine_code,
        shift_start,
        count(*) as n_rows,
        any_value(shift_end) as shift_end,
        min(peak_underground) as peak_underground
    from blocks
    group by mine_code, shift_start
    having
        count(*) > 1
        or any_value(shift_end) <> shift_start + interval 8 hour
        or hour(shift_start) not in (0, 8, 16)
        or minute(shift_start) <> 0
        or shift_start < $history_start
        or shift_start >= $as_of_end
        or min(peak_underground) < 0
)

select * from final
