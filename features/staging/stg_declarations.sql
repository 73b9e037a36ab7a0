-- one row per declared stop filed before $as_of_end (a filing after T is not known at T)
with source as (
    select * from declarations
    where coalesce(declared_at, cast(start_date as timestamp)) < $as_of_end
),

final as (
    select
        cast(mine_code as varchar) as mine_code,
        cast(kind as varchar) as kind,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(face_code as varchar) as face_code,
        cast(declared_at as timestamp) as declared_at,
        cast(coalesce(cast(declared_at as date) > start_date, false) as boolean) as is_filed_late,
        cast(
            case when declared_at is null then null else date_diff('day', start_date, cast(declared_at as date)) end
            as integer
        ) as filed_after_days,
        _file_id,
        _record
    from source
)

select * from final
