from pydantic import BaseModel, Field, field_validator, model_validator

class BookIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    author: str
    year: int | None = None

    @field_validator("author")
    @classmethod
    def author_not_blank(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("author must not be blank")
        return v.title()

    @model_validator(mode="after")
    def year_sane(self):
        if self.year is not None and not (1450 <= self.year <= 2100):
            raise ValueError("year out of range")
        return self

class Book(BookIn):
    id: int
