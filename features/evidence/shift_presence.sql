-- one row per mine and 8-hour reporting block (shift_start 00:00, 08:00, 16:00) overlapping [$history_start, $as_of_end)
-- The blocks are a fixed reporting grid, not the mine's own shifts: mines run three 8-hour (三八制) or
-- four 6-hour (四六制) shifts with overlaps, so one grid keeps mines comparable and a crew's shift may
-- span two blocks. Presence is clipped to the block; open stays and trips end at $as_of_end, or at the
-- card's next stay or trip when the card was seen again (it cannot be in two places at once).
-- Cards, areas and mines are carried as 64-bit hash keys through the big steps (20 M stays): grouping
-- and joining on integers instead of text is several times cheaper; codes come back from small tables.
with mines as (
    select mine_code, hash(mine_code) as mine_key, approved_headcount from stg_mines
),

areas as (
    select mine_code, area_code, hash(mine_code, area_code) as area_key, area_type, approved_headcount
    from stg_areas
),

workfaces as (
    select hash(mine_code, area_code) as area_key, declared_from, declared_to from stg_workfaces
),

trips_source as (
    select hash(mine_code) as mine_key, hash(mine_code, card_code) as card_key, down_at, up_at
    from stg_shaft_trips
),

presence_source as (
    select
        hash(mine_code) as mine_key,
        hash(mine_code, card_code) as card_key,
        hash(mine_code, area_code) as area_key,
        entered_at,
        left_at
    from stg_presence
),

grid as (
    select shift_start from range($history_start, $as_of_end, interval 8 hour) as g (shift_start)
),

blocks as (
    select m.mine_code, m.mine_key, m.approved_headcount, g.shift_start
    from mines as m
    cross join grid as g
),

-- an open trip or stay is almost always the card's latest; only the rare earlier ones (a card that
-- vanished and was seen again) need the card's next start, so the big tables are only aggregated
open_trips as (
    select mine_key, card_key, down_at from trips_source where up_at is null
),

card_last_down as (
    select t.card_key, max(t.down_at) as last_down_at
    from trips_source as t
    inner join (select distinct card_key from open_trips) as o on o.card_key = t.card_key
    group by t.card_key
),

stale_open_trips as (
    select o.mine_key, o.card_key, o.down_at
    from open_trips as o
    inner join card_last_down as l on l.card_key = o.card_key
    where o.down_at < l.last_down_at
),

stale_card_trips as (
    select t.card_key, t.down_at
    from trips_source as t
    inner join (select distinct card_key from stale_open_trips) as c on c.card_key = t.card_key
),

open_trip_ends as (
    select o.mine_key, o.card_key, o.down_at, $as_of_end as up_at
    from open_trips as o
    inner join card_last_down as l on l.card_key = o.card_key and l.last_down_at = o.down_at
    union all
    select s.mine_key, s.card_key, s.down_at, min(t.down_at) as up_at
    from stale_open_trips as s
    inner join stale_card_trips as t on t.card_key = s.card_key and t.down_at > s.down_at
    group by s.mine_key, s.card_key, s.down_at
),

trips as (
    select mine_key, card_key, down_at, up_at from trips_source where up_at is not null
    union all
    select mine_key, card_key, down_at, up_at from open_trip_ends
),

open_stays as (
    select mine_key, card_key, area_key, entered_at from presence_source where left_at is null
),

card_last_entry as (
    select p.card_key, max(p.entered_at) as last_entered_at
    from presence_source as p
    inner join (select distinct card_key from open_stays) as o on o.card_key = p.card_key
    group by p.card_key
),

stale_open_stays as (
    select o.mine_key, o.card_key, o.area_key, o.entered_at
    from open_stays as o
    inner join card_last_entry as l on l.card_key = o.card_key
    where o.entered_at < l.last_entered_at
),

stale_card_stays as (
    select p.card_key, p.entered_at
    from presence_source as p
    inner join (select distinct card_key from stale_open_stays) as c on c.card_key = p.card_key
),

open_stay_ends as (
    select o.mine_key, o.card_key, o.area_key, o.entered_at, $as_of_end as left_at
    from open_stays as o
    inner join card_last_entry as l on l.card_key = o.card_key and l.last_entered_at = o.entered_at
    union all
    select s.mine_key, s.card_key, s.area_key, s.entered_at, min(p.entered_at) as left_at
    from stale_open_stays as s
    inner join stale_card_stays as p on p.card_key = s.card_key and p.entered_at > s.entered_at
    group by s.mine_key, s.card_key, s.area_key, s.entered_at
),

presence as (
    select mine_key, card_key, area_key, entered_at, left_at from presence_source where left_at is not null
    union all
    select mine_key, card_key, area_key, entered_at, left_at from open_stay_ends
),

stays as (
    select
        mine_key,
        card_key,
        area_key,
        entered_at,
        left_at,
        time_bucket(interval 8 hour, entered_at, $history_start) as first_block,
        time_bucket(interval 8 hour, greatest(entered_at, left_at - interval 1 microsecond), $history_start)
            as last_block
    from presence
    where left_at >= entered_at
),

-- a stay's first block, its second if it reaches one, and the rest (rare) through a series: cheaper
-- than a series for every stay
stay_pieces as (
    select mine_key, card_key, area_key, entered_at, left_at, first_block as shift_start
    from stays
    union all
    select mine_key, card_key, area_key, entered_at, left_at, first_block + interval 8 hour as shift_start
    from stays
    where last_block > first_block
    union all
    select
        mine_key,
        card_key,
        area_key,
        entered_at,
        left_at,
        unnest(generate_series(first_block + interval 16 hour, last_block, interval 8 hour)) as shift_start
    from stays
    where last_block > first_block + interval 8 hour
),

pieces as (
    select
        mine_key,
        card_key,
        area_key,
        shift_start,
        date_diff('millisecond', greatest(entered_at, shift_start), least(left_at, shift_start + interval 8 hour))
            / 3600000.0 as hours,
        left_at - entered_at >= interval 1 hour as is_hour_long
    from stay_pieces
),

-- the area type and the declared faces depend only on area and block, so classify after summing
area_blocks as (
    select
        mine_key,
        area_key,
        shift_start,
        sum(hours) as hours,
        coalesce(sum(hours) filter (where is_hour_long), 0) as hour_long_hours
    from pieces
    group by mine_key, area_key, shift_start
),

face_blocks as (
    select distinct w.area_key, g.shift_start
    from workfaces as w
    inner join grid as g
        on cast(g.shift_start as date) >= w.declared_from
        and (w.declared_to is null or cast(g.shift_start as date) <= w.declared_to)
),

typed_area_blocks as (
    select
        b.mine_key,
        b.shift_start,
        b.hours,
        -- one category per area and block so the people-hours add up: shaft, restricted, declared face,
        -- other key area, other (including areas of unknown type)
        case
            when a.area_type = '井口区域' then 'shaft'
            when a.area_type = '限制区域' then 'restricted'
            when f.area_key is not null then 'face'
            when a.area_type = '重点区域' then 'key_not_face'
            else 'other'
        end as category,
        -- an hour or more in a place that is neither a declared face nor the shaft is work nobody declared
        case when f.area_key is null and a.area_type is distinct from '井口区域' then b.hour_long_hours else 0 end
            as undeclared_work_hours
    from area_blocks as b
    left join areas as a on a.area_key = b.area_key
    left join face_blocks as f on f.area_key = b.area_key and f.shift_start = b.shift_start
),

block_hours as (
    select
        mine_key,
        shift_start,
        sum(hours) as people_hours_total,
        coalesce(sum(hours) filter (where category = 'shaft'), 0) as people_hours_shaft,
        coalesce(sum(hours) filter (where category = 'face'), 0) as people_hours_face,
        coalesce(sum(hours) filter (where category = 'other'), 0) as people_hours_other,
        coalesce(sum(hours) filter (where category = 'restricted'), 0) as people_hours_restricted,
        coalesce(sum(hours) filter (where category = 'key_not_face'), 0) as people_hours_key_not_face,
        sum(undeclared_work_hours) as people_hours_undeclared_work
    from typed_area_blocks
    group by mine_key, shift_start
),

-- one row per card and block: how long it was seen and whether it stayed in one area
card_blocks as (
    select
        mine_key,
        card_key,
        shift_start,
        min(area_key) = max(area_key) as is_one_area,
        sum(hours) as hours
    from pieces
    group by mine_key, card_key, shift_start
),

-- the cards of a block, and those that spent 2 h or more of it in one area and nowhere else: a trip
-- of 4 h or more sitting in one area has such a block (the list keeps the big table single-use)
block_cards as (
    select
        mine_key,
        shift_start,
        count(*) as n_cards,
        list(card_key) filter (where is_one_area and hours >= 2) as one_area_cards
    from card_blocks
    group by mine_key, shift_start
),

-- sweep: +1 when a card goes down, -1 when it comes up, 0 at each block start to carry the level into
-- the block; at equal times ups come first, so simultaneous ups and downs never overstate the peak
mine_events as (
    select mine_key, down_at as event_at, 1 as delta from trips where up_at > down_at
    union all
    select mine_key, up_at as event_at, -1 as delta from trips where up_at > down_at
    union all
    select mine_key, shift_start as event_at, 0 as delta from blocks
),

mine_levels as (
    select
        mine_key,
        event_at,
        sum(delta) over (partition by mine_key order by event_at, delta rows unbounded preceding) as level
    from mine_events
),

mine_peaks as (
    select
        mine_key,
        time_bucket(interval 8 hour, event_at, $history_start) as shift_start,
        max(level) as peak_underground
    from mine_levels
    where event_at >= $history_start and event_at < $as_of_end
    group by all
),

limited_areas as (
    select mine_code, area_key, approved_headcount from areas where approved_headcount > 0
),

limited_presence as (
    select p.area_key, p.entered_at, p.left_at
    from presence as p
    inner join limited_areas as a on a.area_key = p.area_key
    where p.left_at > p.entered_at
),

area_events as (
    select area_key, entered_at as event_at, 1 as delta from limited_presence
    union all
    select area_key, left_at as event_at, -1 as delta from limited_presence
    union all
    select a.area_key, g.shift_start as event_at, 0 as delta
    from limited_areas as a
    cross join grid as g
),

area_levels as (
    select
        area_key,
        event_at,
        sum(delta) over (partition by area_key order by event_at, delta rows unbounded preceding) as level
    from area_events
),

area_peaks as (
    select
        area_key,
        time_bucket(interval 8 hour, event_at, $history_start) as shift_start,
        max(level) as peak
    from area_levels
    where event_at >= $history_start and event_at < $as_of_end
    group by all
),

area_over as (
    select
        a.mine_code,
        p.shift_start,
        count(*) filter (where p.peak > a.approved_headcount) as n_areas_over_limit,
        max(p.peak / a.approved_headcount) as max_area_over_ratio
    from area_peaks as p
    inner join limited_areas as a on a.area_key = p.area_key
    group by a.mine_code, p.shift_start
),

-- idle cards: a card whose whole trip sat in one area for 4 h or more (left at the shaft, or parked
-- while its owner works elsewhere); only the trips of cards with a one-area block are checked
idle_seeds as (
    select shift_start, unnest(one_area_cards) as card_key
    from block_cards
),

seed_trips as (
    select distinct t.card_key, t.down_at, t.up_at
    from idle_seeds as s
    inner join trips as t
        on t.card_key = s.card_key
        and t.down_at < s.shift_start + interval 8 hour
        and t.up_at > s.shift_start
    where t.up_at - t.down_at >= interval 4 hour
),

seed_stays as (
    select p.card_key, p.area_key, p.entered_at
    from presence as p
    inner join (select distinct card_key from seed_trips) as c on c.card_key = p.card_key
),

idle_trips as (
    select t.card_key, t.down_at, t.up_at, min(s.area_key) as area_key
    from seed_trips as t
    inner join seed_stays as s
        on s.card_key = t.card_key and s.entered_at >= t.down_at and s.entered_at < t.up_at
    group by t.card_key, t.down_at, t.up_at
    having min(s.area_key) = max(s.area_key)
),

idle_trip_blocks as (
    select
        card_key,
        area_key,
        unnest(generate_series(
            time_bucket(interval 8 hour, down_at, $history_start),
            time_bucket(interval 8 hour, greatest(down_at, up_at - interval 1 microsecond), $history_start),
            interval 8 hour
        )) as shift_start
    from idle_trips
),

idle_pieces as (
    select a.mine_code, a.area_code, a.area_type, i.card_key, i.shift_start
    from idle_trip_blocks as i
    inner join areas as a on a.area_key = i.area_key
),

idle_blocks as (
    select
        mine_code,
        shift_start,
        count(distinct card_key) as n_idle_cards,
        count(distinct card_key) filter (where area_type = '井口区域') as n_idle_shaft_cards
    from idle_pieces
    group by mine_code, shift_start
),

idle_top_area as (
    select
        mine_code,
        shift_start,
        area_code,
        row_number() over (partition by mine_code, shift_start order by count(distinct card_key) desc, area_code)
            as rn
    from idle_pieces
    group by mine_code, shift_start, area_code
),

final as (
    select
        cast(b.mine_code as varchar) as mine_code,
        cast(b.shift_start as timestamp) as shift_start,
        cast(b.shift_start + interval 8 hour as timestamp) as shift_end,
        cast(b.shift_start >= $window_start as boolean) as is_in_window,
        cast(b.approved_headcount as integer) as approved_headcount,
        cast(coalesce(mp.peak_underground, 0) as integer) as peak_underground,
        cast(coalesce(mp.peak_underground, 0) / nullif(b.approved_headcount, 0) as double) as headcount_ratio,
        cast(coalesce(mp.peak_underground, 0) > b.approved_headcount as boolean) as is_over_headcount,
        cast(coalesce(c.n_cards, 0) as integer) as n_cards,
        cast(coalesce(h.people_hours_total, 0) as double) as people_hours_total,
        cast(coalesce(h.people_hours_shaft, 0) as double) as people_hours_shaft,
        cast(coalesce(h.people_hours_face, 0) as double) as people_hours_face,
        cast(coalesce(h.people_hours_other, 0) as double) as people_hours_other,
        cast(coalesce(h.people_hours_restricted, 0) as double) as people_hours_restricted,
        cast(coalesce(h.people_hours_key_not_face, 0) as double) as people_hours_key_not_face,
        cast(coalesce(h.people_hours_undeclared_work, 0) as double) as people_hours_undeclared_work,
        cast(coalesce(i.n_idle_cards, 0) as integer) as n_idle_cards,
        cast(coalesce(i.n_idle_shaft_cards, 0) as integer) as n_idle_shaft_cards,
        cast(ta.area_code as varchar) as idle_area_code,
        cast(coalesce(ao.n_areas_over_limit, 0) as integer) as n_areas_over_limit,
        cast(ao.max_area_over_ratio as double) as max_area_over_ratio
    from blocks as b
    left join block_hours as h on h.mine_key = b.mine_key and h.shift_start = b.shift_start
    left join block_cards as c on c.mine_key = b.mine_key and c.shift_start = b.shift_start
    left join mine_peaks as mp on mp.mine_key = b.mine_key and mp.shift_start = b.shift_start
    left join area_over as ao on ao.mine_code = b.mine_code and ao.shift_start = b.shift_start
    left join idle_blocks as i on i.mine_code = b.mine_code and i.shift_start = b.shift_start
    left join idle_top_area as ta on ta.mine_code = b.mine_code and ta.shift_start = b.shift_start and ta.rn = 1
)

select * from final
