-- one row per shift_presence block whose people-hours do not add up or exceed what its cards could spend
with blocks as (
    select * from shift_presence
),

final as (
    select
        mine_code,
        shift_start,
        people_hours_total,
        people_hours_shaft + people_hours_face + people_hours_other + people_hours_restricted
            + people_hours_key_not_face as people_hours_by_category,
        people_hours_undeclared_work,
        n_cards
    from blocks
    where abs(
            people_hours_total
            - (people_hours_shaft + people_hours_face + people_hours_other + people_hours_restricted
               + people_hours_key_not_face)
        ) > 1e-6
        or people_hours_undeclared_work > people_hours_total + 1e-6
        or people_hours_total > n_cards * 8 + 1e-6
        or least(people_hours_shaft, people_hours_face, people_hours_other, people_hours_restricted,
                 people_hours_key_not_face, people_hours_undeclared_work) < 0
        or n_idle_cards > n_cards
        or n_idle_shaft_cards > n_idle_cards
)

select * from final
