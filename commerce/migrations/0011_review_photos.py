# A review may carry several photos: Review.photo becomes the first ReviewPhoto.

import django.db.models.deletion
from django.db import migrations, models

import commerce.models


def photos_forward(apps, schema_editor):
    Review = apps.get_model("commerce", "Review")
    ReviewPhoto = apps.get_model("commerce", "ReviewPhoto")
    ReviewPhoto.objects.bulk_create(
        ReviewPhoto(review_id=review_id, image=name, position=0)
        for review_id, name in Review.objects.exclude(photo="").values_list("id", "photo")
    )


def photos_backward(apps, schema_editor):
    Review = apps.get_model("commerce", "Review")
    ReviewPhoto = apps.get_model("commerce", "ReviewPhoto")
    for photo in ReviewPhoto.objects.order_by("review_id", "-position", "-id"):
        Review.objects.filter(pk=photo.review_id).update(photo=photo.image.name)


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0010_campaign_image"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReviewPhoto",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("image", models.ImageField(upload_to=commerce.models.review_photo_path)),
                ("position", models.PositiveSmallIntegerField(default=0)),
                (
                    "review",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="photos",
                        to="commerce.review",
                    ),
                ),
            ],
            options={"ordering": ["position", "id"]},
        ),
        migrations.RunPython(photos_forward, photos_backward),
        migrations.RemoveField(model_name="review", name="photo"),
    ]
