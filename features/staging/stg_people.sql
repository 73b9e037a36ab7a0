-- one row per card registered by $as_of (a later deregistration is not known yet)
with source as (
    select * from people
    where registered_on <= $as_of
),

final as (
    select
        cast(mine_code as varchar) as mine_code,
        cast(card_code as varchar) as card_code,
        cast(name as varchar) as name,
        cast(job as varchar) as job,
        cast(team as varchar) as team,
        cast(coalesce(is_leader, 0) as integer) as is_leader,
        cast(coalesce(is_special, 0) as integer) as is_special,
        cast(registered_on as date) as registered_on,
        cast(case when deregistered_on <= $as_of then deregistered_on end as date) as deregistered_on
    from source
)

select * from final
