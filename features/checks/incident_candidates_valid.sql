-- one row per incident candidate id that is duplicated, outside [$history_start, $as_of_end), or whose card counts disagree
with candidates as (
    select * from incident_candidates
),

final as (
    select
        candidate_id,
        count(*) as n_rows,
        any_value(kind) as kind,
        any_value(event_at) as event_at,
        any_value(n_cards) as n_cards,
        any_value(card_codes) as card_codes
    from candidates
    group by candidate_id
    having
        count(*) > 1
        or any_value(kind) not in ('open_trip', 'late_trip', 'face_stop', 'crew_exit')
        or any_value(event_at) < $history_start
        or any_value(event_at) >= $as_of_end
        or any_value(n_cards) <> coalesce(len(string_split(any_value(card_codes), ',')), 0)
        or any_value(n_cards_unaccounted) + any_value(n_cards_seen_again) > any_value(n_cards)
        or any_value(n_deregistered_10d) > any_value(n_cards)
        or any_value(n_cards_off_7d) > any_value(n_cards)
        or any_value(suspicion_points) not between 0 and 9
        or (any_value(kind) <> 'face_stop' and any_value(n_cards) = 0)
)

select * from final
