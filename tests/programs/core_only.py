"""SQLAlchemy Core only: Table, insert with executemany, select, a rolled back transaction."""

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select

metadata = MetaData()
pets = Table("pets", metadata, Column("id", Integer, primary_key=True), Column("name", String))

engine = create_engine("sqlite://", echo=True)
metadata.create_all(engine)

with engine.begin() as connection:
    connection.execute(insert(pets), [{"name": "Rex"}, {"name": "Tom"}, {"name": "Kit"}])

with engine.connect() as connection:
    transaction = connection.begin()
    connection.execute(pets.delete())
    transaction.rollback()
    rows = connection.execute(select(pets.c.name).order_by(pets.c.id)).all()
    print([row.name for row in rows])
