import os
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from security import current_user

router = APIRouter(prefix="/reviews", tags=["reviews"])

class ReviewIn(BaseModel):
    book_id: int
    stars: int = Field(ge=1, le=5)
    text: str = ""

def collection(request: Request):
    # An ASGI app has no `context`: the binding is FP_MONGO_URI / FP_MONGO_DATABASE (docs/data-binding.md).
    if request.state.mongo is None:
        raise HTTPException(503, "no data binding")
    return request.state.mongo[os.environ["FP_MONGO_DATABASE"]].reviews

@router.post("/", status_code=201)
def add(review: ReviewIn, user: str = Depends(current_user), coll=Depends(collection)):
    coll.insert_one({**review.model_dump(), "user": user})
    return {"count": coll.count_documents({"book_id": review.book_id})}

@router.get("/{book_id}")
def for_book(book_id: int, coll=Depends(collection)):
    return [{k: v for k, v in d.items() if k != "_id"} for d in coll.find({"book_id": book_id})]
