"""add_all, ORM-enabled update() and delete(), exec_driver_sql with executemany."""

from sqlalchemy import delete, update
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Item(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    price: float = 0


def main() -> None:
    engine = create_engine("sqlite://", echo=True)
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Item(name=f"item {n}", price=n) for n in range(5)])
        session.commit()
        session.exec(update(Item).where(Item.price > 2).values(price=Item.price * 2))
        session.exec(delete(Item).where(Item.price == 0))
        session.commit()
        print([item.price for item in session.exec(select(Item).order_by(Item.id)).all()])
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO item (name, price) VALUES (?, ?)", [("x", 1.5), ("y", 2.5), ("z", 3.5)]
        )
        print(connection.exec_driver_sql("SELECT count(*) FROM item").scalar())


if __name__ == "__main__":
    main()
